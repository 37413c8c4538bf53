# sources of src/export are listed here
