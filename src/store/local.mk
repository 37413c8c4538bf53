# sources of src/store are listed here
