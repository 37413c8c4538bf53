# sources of src/graph are listed here
