/*
 * yamlio.h - read YAML (config.yml, vars files, -e @file) into values, the
 * way Ansible does (PyYAML's SafeLoader on libyaml's parser), and write
 * values back as YAML.
 *
 *     struct value *cfg = yaml_load_file("clusters/k8s-01/config.yml");
 *     if (!cfg)
 *         return -1;                // "config.yml:4: mapping values are ..."
 *     struct value *port = value_map_get(cfg, "NODE_CIDR_LEN");  // V_INT 24
 *     value_unref(cfg);
 *
 * What a scalar becomes follows PyYAML (YAML 1.1), not YAML 1.2:
 * - Plain (unquoted) scalars are resolved: ~ null Null NULL and empty are
 *   null; yes/no/true/false/on/off (lower, Capitalised or UPPER; not y/n)
 *   are bools; 12, -3, 1_000, 0x1F, 0b101, 0755 (octal!) and 190:20:30
 *   (base 60) are ints; 1.5, 1., .5, 1.0e+3, .inf, -.Inf, .nan are floats
 *   (1e3 and 1.0e3 are strings: 1.1 wants a dot and a signed exponent);
 *   2001-12-14 style timestamps stay strings (PyYAML makes a date); all
 *   else is a string.
 * - Quoted ('..', "..") and block (|, >) scalars are always strings.
 * - Tags: !!str !!int !!float !!bool !!null !!map !!seq !!binary
 *   !!timestamp (kept as text), Ansible's !unsafe (a scalar becomes its
 *   text as a string), and the non-specific "!" (resolved as if plain, as
 *   PyYAML does). Any other tag is an error.
 * - Mapping keys are strings in ezk. A key that PyYAML would load as
 *   another type is stored as Python's str() of it: `1: a` -> "1",
 *   `true: x` -> "True", `~: x` -> "None", `1.5: x` -> "1.5". Numbers
 *   equal in Python are one key, as in a dict: `{1: a, true: b}` gives
 *   {"1": "b"}. (But `1` and `"1"` are one key here and two in Python.)
 *   A list or map as key is an error ("found unhashable key"), as in
 *   PyYAML.
 * - Duplicate keys: the last value wins, at the first key's position.
 * - Anchors and aliases: an alias is the same value (value_ref'd), so
 *   "billion laughs" documents load in linear memory (but expanding them,
 *   e.g. yaml_emit or JSON, is exponential). An alias to an undefined or
 *   duplicate anchor, or to a node that contains it, is an error.
 * - Merge keys: `<<: *a` and `<<: [*a, *b]`; keys of the mapping itself
 *   win over merged ones, *a wins over *b, a later `<<` over an earlier
 *   one; key order as PyYAML gives it.
 * - Nesting deeper than YAML_MAX_DEPTH collections is an error.
 *
 * Where ezk differs from PyYAML on purpose or for want of a type: ints
 * beyond 64 bits are an error (Python has big ints); !!set, !!omap and
 * !!pairs are errors; !!binary gives the bytes as a string; !unsafe is
 * Ansible's, not PyYAML's; a node containing an alias to itself is an
 * error (PyYAML builds a cycle); a mapping key's type is lost. Errors a
 * Python exception would raise (int('0b_'), a bad !!bool) are "file:line:"
 * messages of ours.
 *
 * Every value carries its source (value->file interned, value->line of
 * the scalar or where the collection starts, 1-based). Errors set the
 * err.h message "path:line: problem" and return NULL; nothing aborts.
 */
#ifndef EZK_YAMLIO_H
#define EZK_YAMLIO_H

#include <stddef.h>

#include "buf.h"
#include "value.h"

#define YAML_MAX_DEPTH 256

/* Load a YAML file whose top level must be a mapping (an empty file, only
 * comments or a null document give an empty map). NULL on error with the
 * message "path:line: message" ("path: No such file or directory" when
 * the file cannot be read). */
struct value *yaml_load_file(const char *path);
/* The same from memory; path names the text in values and messages. */
struct value *yaml_load(const char *text, size_t len, const char *path);
/* yaml_load, and where the value of each key of the top-level mapping lies
 * in text (span.h), appended to *spans in document order: from the value
 * node's first byte (its quote, block indicator, tag or anchor) to the end
 * of its last (a block scalar's span may end with its line break). Merge
 * keys (<<) have none. Nothing is appended when the text does not load. */
struct var_spans;
struct value *yaml_load_spans(const char *text, size_t len, const char *path,
			      struct var_spans *spans);
/* Load one YAML document whose top level may be anything (an empty stream
 * is null) - for -e @file and tests. */
struct value *yaml_load_any(const char *text, size_t len, const char *path);

/* Append v as block-style YAML ending in a newline, strings quoted
 * (double quotes, escapes) whenever plain text would read back as
 * something else, so yaml_load_any() of the result gives an equal value.
 * Floats print as PyYAML does (1.0, 1.0e+20, .inf, .nan). Bytes that are
 * not UTF-8 cannot be YAML: they are written as \xNN (read back as
 * U+00NN). Shared values (aliases) are written out in full each time. */
void yaml_emit(const struct value *v, struct buf *out);

#endif
