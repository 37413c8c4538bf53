# sources of src/engine are listed here
