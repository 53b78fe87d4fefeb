"""EtherNet/IP driver for Rockwell Logix controllers (pylogix)."""
