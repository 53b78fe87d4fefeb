"""OPC UA client driver (asyncua)."""
