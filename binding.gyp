{
  "targets": [
    {
      "target_name": "switchboard_native",
      "sources": ["native/addon.c", "native/sha256-blocks.c", "native/file-send.c", "native/relay.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
