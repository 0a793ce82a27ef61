{
  "targets": [
    {
      "target_name": "sha256_blocks",
      "sources": ["registryd/upload/native/sha256_blocks.c"],
      "cflags": ["-O2"]
    }
  ]
}
