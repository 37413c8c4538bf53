# sources of ui are listed here
