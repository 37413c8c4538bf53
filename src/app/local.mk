# sources of src/app are listed here
