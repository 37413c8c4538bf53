# sources of src/backup are listed here
