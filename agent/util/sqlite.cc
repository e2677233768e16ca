#include "sqlite.h"

#include <sqlite3.h>

namespace util {

SqlStatement::SqlStatement(sqlite3* db, const char* sql)
{
  if (sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(m_stmt);
    m_stmt = nullptr;
  }
}

SqlStatement::~SqlStatement()
{
  sqlite3_finalize(m_stmt);
}

SqlStatement& SqlStatement::bind(int index, std::string_view text)
{
  sqlite3_bind_text(m_stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

SqlStatement& SqlStatement::bind(int index, std::int64_t value)
{
  sqlite3_bind_int64(m_stmt, index, value);
  return *this;
}

int SqlStatement::step()
{
  return sqlite3_step(m_stmt);
}

std::string SqlStatement::text(int column) const
{
  const auto* p = sqlite3_column_text(m_stmt, column);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, column)))
           : std::string();
}

std::int64_t SqlStatement::integer(int column) const
{
  return sqlite3_column_int64(m_stmt, column);
}

std::optional<std::int64_t> SqlStatement::optional_integer(int column) const
{
  if (sqlite3_column_type(m_stmt, column) == SQLITE_NULL) {
    return std::nullopt;
  }
  return integer(column);
}

bool sql_exec(sqlite3* db, const char* sql, std::string* error)
{
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK && error) {
    *error = message ? message : sqlite3_errstr(rc);
  }
  sqlite3_free(message);
  return rc == SQLITE_OK;
}

} // namespace util
