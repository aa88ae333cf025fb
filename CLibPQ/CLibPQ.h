// libpq (Debian libpq-dev) for db_postgres. Debian keeps its headers under postgresql/.
#pragma once
#include <postgresql/libpq-fe.h>
