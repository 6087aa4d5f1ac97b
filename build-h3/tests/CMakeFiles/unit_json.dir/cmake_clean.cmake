file(REMOVE_RECURSE
  "CMakeFiles/unit_json.dir/unit_json.c.o"
  "CMakeFiles/unit_json.dir/unit_json.c.o.d"
  "unit_json"
  "unit_json.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/unit_json.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
