// util/sqlite.h: the little SQLite needs of the agent's cache and the collector's store: a
// prepared statement that finalizes itself (with typed binds and column reads) and exec().
// Knows nothing of the agent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace util {

class SqlStatement {
public:
  // Prepares `sql`; on failure the statement is empty (operator bool false).
  SqlStatement(sqlite3* db, const char* sql);
  ~SqlStatement();
  SqlStatement(const SqlStatement&) = delete;
  SqlStatement& operator=(const SqlStatement&) = delete;

  explicit operator bool() const { return m_stmt != nullptr; }
  sqlite3_stmt* get() const { return m_stmt; }

  SqlStatement& bind(int index, std::string_view text); // copied (SQLITE_TRANSIENT)
  SqlStatement& bind(int index, std::int64_t value);
  int step(); // SQLITE_ROW, SQLITE_DONE or an error code

  std::string text(int column) const;
  std::int64_t integer(int column) const;
  std::optional<std::int64_t> optional_integer(int column) const; // NULL -> nullopt

private:
  sqlite3_stmt* m_stmt = nullptr;
};

// sqlite3_exec without callbacks; on failure `error` (if given) receives SQLite's message.
bool sql_exec(sqlite3* db, const char* sql, std::string* error = nullptr);

} // namespace util
