"""Where the bytes come from: acquisitions and the read-only DeviceFS over them."""
