# Writes OUT, a C++ source defining `std::string_view FUNCTION()` that returns the bytes of IN.
# Run as: cmake -DIN=... -DOUT=... -DFUNCTION=... -DHEADER=... -P embed_file.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE "${OUT}" "// Generated from ${IN}; do not edit.\n#include \"${HEADER}\"\n\nnamespace reread {\n\nnamespace {\nconstexpr char kBytes[] = {${bytes} '\\0'};\n}  // namespace\n\nstd::string_view ${FUNCTION}() { return {kBytes, sizeof kBytes - 1}; }\n\n}  // namespace reread\n")
