/*
 * pyliteral.h - Python's ast.literal_eval(), the subset ezk needs.
 *
 * Ansible's INI inventory passes every variable value through
 * ast.literal_eval() and keeps the raw text when that fails, so
 * `port=6443` is an int, `name="x"` the string x and `cidr=10.0.0.0/8` the
 * string 10.0.0.0/8. ezk does the same here:
 *
 *     struct value *v = pyliteral_value(text, len, file, line);
 *     // always a new value: the literal, or the raw text as a string
 *
 * What is understood, as Python 3.11 reads it:
 * - ints: decimal (no leading zeros: 010 is a syntax error, so a string),
 *   0x / 0o / 0b, underscores between digits, unary + and -;
 * - floats: 1.5, 1., .5, 1e-3, 1_0.5, unary + and -;
 * - True, False, None;
 * - strings: '...', "...", '''...''', """...""", prefixes r u b (any case,
 *   rb/br too), escapes \n \t \\ \' \" \a \b \f \r \v \ooo \xhh \uXXXX
 *   \UXXXXXXXX; adjacent literals concatenate ('a' "b" is "ab"); bytes
 *   literals become strings, as Ansible's to_text() makes them;
 * - lists, tuples (become lists; `1, 2` at the top is a tuple), dicts,
 *   nested, trailing commas, parentheses, `#` comments.
 * - dict keys become strings the way JSON prints them: 1 -> "1",
 *   True -> "true", None -> "null", 1.5 -> "1.5"; like Python, 1, True
 *   and 1.0 are one key (the first spelling, the last value).
 *
 * Known gaps (the raw string is kept instead): ints beyond long long,
 * complex numbers (1j), sets, \N{name} escapes, strings with lone
 * surrogates or bytes that are not UTF-8, tuple keys (Ansible cannot
 * print those either), nesting deeper than 200 brackets.
 */
#ifndef EZK_PYLITERAL_H
#define EZK_PYLITERAL_H

#include <stddef.h>

#include "value.h"

/* The literal as a new value (each node carries file/line), or NULL when
 * the text is not a literal ezk models. Sets no error message. */
struct value *pyliteral_eval(const char *s, size_t len, const char *file, int line);

/* pyliteral_eval(), falling back to the raw text as a string value. */
struct value *pyliteral_value(const char *s, size_t len, const char *file, int line);

/* 1 if s is UTF-8 that Python would decode strictly (no overlongs, no
 * surrogates). */
int py_utf8_valid(const char *s, size_t n);

#endif
