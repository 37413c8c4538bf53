# sources of doc are listed here
