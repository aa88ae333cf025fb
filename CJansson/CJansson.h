// libjansson for Swift (Debian libjansson-dev). The jansson module uses the library Kamailio's
// own module uses, so that numbers, key order and escaping come out byte for byte the same.
// jansson.h tests a value's type with function-like macros and Kamailio prints reals with
// printf, neither of which Swift can call: the functions below stand in for them.
#pragma once
#include <jansson.h>
#include <stdio.h>

/// The type of a value (`json_typeof`); `json` must not be NULL.
static inline json_type cj_type(const json_t *json) { return json_typeof(json); }

/// Writes a real as Kamailio's jansson module gives it to the script (`%.15g`); returns
/// what snprintf returns.
static inline int cj_format_real(char *buffer, size_t size, double value) {
    return snprintf(buffer, size, "%.15g", value);
}
