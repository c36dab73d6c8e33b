# Dataset snapshots (included from src/data/CMakeLists.txt).
target_sources(lockstep_data PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/file_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/snapshot.cc
  ${CMAKE_CURRENT_LIST_DIR}/stat_cache.cc
  ${CMAKE_CURRENT_LIST_DIR}/table_source.cc
  ${CMAKE_CURRENT_LIST_DIR}/tree_digest.cc
)
target_link_libraries(lockstep_data PUBLIC lockstep_metadata lockstep_store
                      lockstep_core PkgConfig::LIBPQ SQLite::SQLite3)
