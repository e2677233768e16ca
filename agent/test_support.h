// test_support.h: helpers for the unit tests only: a scratch directory tree that removes
// itself, and one-line makers for files, links and FIFOs inside it.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace agent::testing {

class TempTree {
public:
  TempTree()
  {
    std::string templ = (std::filesystem::temp_directory_path() / "webseed-unit-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    m_path = templ;
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  ~TempTree()
  {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }

  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& rel) const { return m_path + "/" + rel; }

  void dir(const std::string& rel) const { std::filesystem::create_directories(*this / rel); }

  void file(const std::string& rel, const std::string& content = "payload") const
  {
    dir(std::filesystem::path(rel).parent_path().string());
    std::ofstream(*this / rel, std::ios::binary) << content;
  }

  void link(const std::string& rel, const std::string& target) const
  {
    dir(std::filesystem::path(rel).parent_path().string());
    if (::symlink(target.c_str(), (*this / rel).c_str()) != 0) {
      throw std::runtime_error("symlink failed: " + rel);
    }
  }

  void fifo(const std::string& rel) const
  {
    dir(std::filesystem::path(rel).parent_path().string());
    if (::mkfifo((*this / rel).c_str(), 0644) != 0) {
      throw std::runtime_error("mkfifo failed: " + rel);
    }
  }

private:
  std::string m_path;
};

// Tiny bencode writers for hand-made test input. bdict sorts its keys.
inline std::string bstr(const std::string& s)
{
  return std::to_string(s.size()) + ":" + s;
}
inline std::string bint(long long v)
{
  return "i" + std::to_string(v) + "e";
}
inline std::string blist(const std::vector<std::string>& items)
{
  std::string out = "l";
  for (const auto& i : items) {
    out += i;
  }
  return out + "e";
}
inline std::string bdict(std::vector<std::pair<std::string, std::string>> items)
{
  std::sort(items.begin(), items.end());
  std::string out = "d";
  for (const auto& [k, v] : items) {
    out += bstr(k) + v;
  }
  return out + "e";
}

} // namespace agent::testing
