# sources of data are listed here
