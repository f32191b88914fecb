// See fs.h.
#include "core/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace r1 {

void write_text_atomic(const std::string& path, std::string_view text) {
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    R1_CHECK(f, path, ": cannot create ", tmp, ": ", std::strerror(errno));
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
                    std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
    const int e = errno;
    std::fclose(f);
    if (!ok) {
        std::remove(tmp.c_str());
        fail(path, ": write failed: ", std::strerror(e));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e2 = errno;
        std::remove(tmp.c_str());
        fail(path, ": cannot rename ", tmp, " over it: ", std::strerror(e2));
    }
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    R1_CHECK(in, path, ": cannot open: ", std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    R1_CHECK(!in.bad(), path, ": read failed");
    return ss.str();
}

}  // namespace r1
