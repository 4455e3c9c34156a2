"""Offline stub of rules_proto: the proto rules built into Bazel 4 under their rules_proto names."""

def proto_lang_toolchain(**kwargs):
    native.proto_lang_toolchain(**kwargs)

def proto_library(**kwargs):
    native.proto_library(**kwargs)
