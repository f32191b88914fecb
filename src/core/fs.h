// Small file-system helpers: whole-file text writes that are atomic (write a temporary next
// to the target, fsync, rename over it, fsync the directory), so a crash or Ctrl-C leaves
// either the old file or the new one — never half of one. Used for run records, reports and
// summaries that later runs read back.
#pragma once
#include <string>
#include <string_view>

namespace r1 {

// Throws r1::Error naming the path on any failure (the temporary is removed).
void write_text_atomic(const std::string& path, std::string_view text);
// Whole file as a string; throws r1::Error naming the path if it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace r1
