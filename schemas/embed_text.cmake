# cmake -DIN=file -DOUT=header -DNAME=kName -P embed_text.cmake
# Writes a header declaring `inline constexpr char NAME[]` with IN's text.
file(READ ${IN} text)
file(WRITE ${OUT} "// Generated from ${IN}. Do not edit.\n#pragma once\n\nnamespace relais::wire {\ninline constexpr char ${NAME}[] = R\"relais_fbs(${text})relais_fbs\";\n}  // namespace relais::wire\n")
