// libsqlite3 (Debian libsqlite3-dev) for db_sqlite. SQLITE_TRANSIENT is a cast macro Swift
// cannot import: the constant below stands in for it.
#pragma once
#include <sqlite3.h>

/// sqlite3_bind_text/blob's "copy the bytes now" destructor.
static const sqlite3_destructor_type csqlite_transient = SQLITE_TRANSIENT;
