/*
 * value.h - the one data model of ezk: null, bool, int, float, string,
 * list, map (insertion-ordered) and obj (a map computed on demand).
 *
 * Inventory variables, config.yml, -e overrides, template results and the
 * JSON ezk prints are all values. A value is reference counted:
 *
 *     struct value *m = value_map();
 *     value_map_set(m, "SECURE_PORT", value_str("6443"));   // m owns it
 *     struct value *v = value_map_get(m, "SECURE_PORT");     // borrowed
 *     value_ref(v);  ... value_unref(v);                     // keep it
 *     value_unref(m);                                        // frees all
 *
 * Rules:
 * - Constructors return a new reference; *_set / *_push take ownership of
 *   the value passed in; *_get returns a borrowed pointer.
 * - Build a value, then treat it as frozen: a value reachable from two
 *   owners is never mutated. Reference counts are atomic, so frozen values
 *   may be shared between host workers.
 * - Every value may carry where it came from (file, line) so a template
 *   error inside it can name the place. `file` is not copied: pass a string
 *   that outlives the value (e.g. from src_intern()).
 * - An obj is a map whose entries are computed on request (hostvars[h]);
 *   ops->get returns 0 and a new reference, 1 when the key does not exist,
 *   or -1 with a message set (err.h).
 */
#ifndef EZK_VALUE_H
#define EZK_VALUE_H

#include <stddef.h>

#include "buf.h"

enum vtype { V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_MAP, V_OBJ };

struct value;

struct vobj_ops {
	const char *name; /* shown by value_to_str, e.g. "hostvars" */
	int (*get)(void *ud, const char *key, size_t klen, struct value **out);
	/* Optional: the keys, as a new list value (for iteration and JSON). */
	struct value *(*keys)(void *ud);
	void (*free)(void *ud);
};

struct vmap;

struct value {
	enum vtype type;
	unsigned refs; /* atomic access only */
	int line;
	const char *file;
	union {
		int b;
		long long i;
		double f;
		struct {
			char *s; /* NUL-terminated, may contain NULs */
			size_t len;
		} str;
		struct {
			struct value **v;
			size_t n, cap;
		} list;
		struct vmap *map;
		struct {
			const struct vobj_ops *ops;
			void *ud;
		} obj;
	} u;
};

struct value *value_null(void);
struct value *value_bool(int b);
struct value *value_int(long long i);
struct value *value_float(double f);
struct value *value_str(const char *s);
struct value *value_strn(const char *s, size_t n);
struct value *value_str_take(char *s, size_t n); /* takes a malloc'd string */
struct value *value_list(void);
struct value *value_map(void);
struct value *value_obj(const struct vobj_ops *ops, void *ud);

struct value *value_ref(struct value *v); /* returns v; NULL-safe */
void value_unref(struct value *v);	  /* NULL-safe */
struct value *value_set_src(struct value *v, const char *file, int line);
struct value *value_copy(const struct value *v); /* deep copy of list/map */

const char *value_type_name(const struct value *v);

/* Lists */
void value_list_push(struct value *list, struct value *item);
struct value *value_list_get(const struct value *list, size_t i);

/* Maps: keys are NUL-terminated strings, kept in insertion order. Setting
 * an existing key replaces its value in place (order kept). */
void value_map_set(struct value *map, const char *key, struct value *v);
struct value *value_map_get(const struct value *map, const char *key);
struct value *value_map_getn(const struct value *map, const char *key, size_t klen);
/* The string at key of a map (JSON's {"key": "..."}), or NULL when m is no
 * map, has no such key or holds something else there. */
const char *value_map_str(const struct value *m, const char *key);
int value_map_del(struct value *map, const char *key); /* 1 if removed */
const char *value_map_key(const struct value *map, size_t i);
struct value *value_map_val(const struct value *map, size_t i);

/* An obj's entries as a plain map (new reference); an entry whose get
 * fails is null. Needs ops->keys; without it the map is empty. */
struct value *value_obj_map(const struct value *obj);

/* Element count of a string (bytes), list or map; 0 otherwise. */
size_t value_len(const struct value *v);

/* Python/Jinja truthiness. */
int value_truthy(const struct value *v);
/* Equality as Python compares: 1 == 1.0, lists and maps element-wise. */
int value_equal(const struct value *a, const struct value *b);

/* Append the value as Python's str() shows it: strings raw, True/False/
 * None, lists and maps as repr ("['a', 1]"). This is what a template
 * prints for {{ x }}. */
void value_to_str(const struct value *v, struct buf *out);
/* JSON; indent 0 = compact, otherwise pretty with that many spaces.
 * Map keys are printed in insertion order unless sort_keys. */
void value_to_json(const struct value *v, struct buf *out, int indent, int sort_keys);

/* Python's repr() of a finite float into out (40 bytes at least): the
 * fewest digits that read back the same, fixed notation for exponents
 * -4..15 ("685230.0", "1e+16", "0.0001"). */
void value_float_repr(double f, char *out);

/* Intern a file name for value_set_src(): returns a copy that lives until
 * the process exits. */
const char *src_intern(const char *file);

#endif
