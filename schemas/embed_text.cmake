# cmake -DIN=file -DOUT=header -DNAME=kName [-DNS=relais::wire] -P embed_text.cmake
# Writes a header declaring `inline constexpr char NAME[]` with IN's text,
# in namespace NS (default relais::wire).
if(NOT NS)
  set(NS relais::wire)
endif()
file(READ ${IN} text)
file(WRITE ${OUT} "// Generated from ${IN}. Do not edit.\n#pragma once\n\nnamespace ${NS} {\ninline constexpr char ${NAME}[] = R\"relais_fbs(${text})relais_fbs\";\n}  // namespace ${NS}\n")
