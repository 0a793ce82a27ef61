{
  "targets": [
    {
      "target_name": "registryd_native",
      "sources": ["registryd/native/addon.c", "registryd/native/sha256-blocks.c", "registryd/native/file-send.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
