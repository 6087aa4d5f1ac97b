file(REMOVE_RECURSE
  "CMakeFiles/unit_mirror.dir/unit_mirror.c.o"
  "CMakeFiles/unit_mirror.dir/unit_mirror.c.o.d"
  "unit_mirror"
  "unit_mirror.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/unit_mirror.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
