# Console tests: the real console in tmux, driven with send-keys and read
# with capture-pane, checked on screen and in the store afterwards.
TESTS += tests/ui/test_console.py
EXTRA_DIST += tests/ui/test_console.py
