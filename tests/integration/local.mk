# integration tests are listed here
