/*
 * gurt/list.h -- circular doubly linked lists in the style of the Linux kernel
 * (d_list_t, insertion/removal helpers, iteration macros).
 * Part of the daos-rs C interface; matches DAOS API 2.8 (gurt list API).
 */
#ifndef DAOS_RS_GURT_LIST_H
#define DAOS_RS_GURT_LIST_H

#include <stddef.h>
#include <stdbool.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** List link; a list head is a link that points to itself when empty. */
typedef struct d_list_head {
	struct d_list_head *next;
	struct d_list_head *prev;
} d_list_t;

#define D_LIST_HEAD_INIT(name) { &(name), &(name) }
#define D_LIST_HEAD(name) d_list_t name = D_LIST_HEAD_INIT(name)
#define D_INIT_LIST_HEAD(ptr) do { (ptr)->next = (ptr); (ptr)->prev = (ptr); } while (0)

static inline void
d_list_link_between(d_list_t *add, d_list_t *prev, d_list_t *next)
{
	next->prev = add;
	add->next  = next;
	add->prev  = prev;
	prev->next = add;
}

/** Insert \a add right after \a head (stack order). */
static inline void
d_list_add(d_list_t *add, d_list_t *head)
{
	d_list_link_between(add, head, head->next);
}

/** Insert \a add right before \a head (queue order). */
static inline void
d_list_add_tail(d_list_t *add, d_list_t *head)
{
	d_list_link_between(add, head->prev, head);
}

static inline void
d_list_unlink_between(d_list_t *prev, d_list_t *next)
{
	next->prev = prev;
	prev->next = next;
}

/** Remove \a entry from its list; its links are left pointing nowhere useful. */
static inline void
d_list_del(d_list_t *entry)
{
	d_list_unlink_between(entry->prev, entry->next);
	entry->next = NULL;
	entry->prev = NULL;
}

/** Remove \a entry from its list and make it an empty list of its own. */
static inline void
d_list_del_init(d_list_t *entry)
{
	d_list_unlink_between(entry->prev, entry->next);
	D_INIT_LIST_HEAD(entry);
}

/** Move \a list to the front of \a head. */
static inline void
d_list_move(d_list_t *list, d_list_t *head)
{
	d_list_unlink_between(list->prev, list->next);
	d_list_add(list, head);
}

/** Move \a list to the back of \a head. */
static inline void
d_list_move_tail(d_list_t *list, d_list_t *head)
{
	d_list_unlink_between(list->prev, list->next);
	d_list_add_tail(list, head);
}

static inline int
d_list_empty(const d_list_t *head)
{
	return head->next == head;
}

static inline int
d_list_empty_careful(const d_list_t *head)
{
	d_list_t *next = head->next;

	return (next == head) && (next == head->prev);
}

static inline void
d_list_splice_between(d_list_t *list, d_list_t *prev, d_list_t *next)
{
	d_list_t *first = list->next;
	d_list_t *last  = list->prev;

	first->prev = prev;
	prev->next  = first;
	last->next  = next;
	next->prev  = last;
}

/** Join \a list (not its head) at the front of \a head. */
static inline void
d_list_splice(d_list_t *list, d_list_t *head)
{
	if (!d_list_empty(list))
		d_list_splice_between(list, head, head->next);
}

/** Join \a list at the front of \a head and reinitialise \a list. */
static inline void
d_list_splice_init(d_list_t *list, d_list_t *head)
{
	if (!d_list_empty(list)) {
		d_list_splice_between(list, head, head->next);
		D_INIT_LIST_HEAD(list);
	}
}

/** Join \a list at the back of \a head and reinitialise \a list. */
static inline void
d_list_splice_tail_init(d_list_t *list, d_list_t *head)
{
	if (!d_list_empty(list)) {
		d_list_splice_between(list, head->prev, head);
		D_INIT_LIST_HEAD(list);
	}
}

/** The structure that embeds the link \a ptr as its field \a member. */
#define d_list_entry(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/** Pop the first entry of \a head (or NULL if empty). */
#define d_list_pop_entry(head, type, member) \
	(d_list_empty(head) ? (type *)NULL : \
	 ({ d_list_t *_d_first = (head)->next; d_list_del_init(_d_first); \
	    d_list_entry(_d_first, type, member); }))

#define d_list_for_each(pos, head) \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#define d_list_for_each_prev(pos, head) \
	for ((pos) = (head)->prev; (pos) != (head); (pos) = (pos)->prev)

#define d_list_for_each_safe(pos, n, head) \
	for ((pos) = (head)->next, (n) = (pos)->next; (pos) != (head); \
	     (pos) = (n), (n) = (pos)->next)

#define d_list_for_each_entry(pos, head, member) \
	for ((pos) = d_list_entry((head)->next, __typeof__(*(pos)), member); \
	     &(pos)->member != (head); \
	     (pos) = d_list_entry((pos)->member.next, __typeof__(*(pos)), member))

#define d_list_for_each_entry_reverse(pos, head, member) \
	for ((pos) = d_list_entry((head)->prev, __typeof__(*(pos)), member); \
	     &(pos)->member != (head); \
	     (pos) = d_list_entry((pos)->member.prev, __typeof__(*(pos)), member))

#define d_list_for_each_entry_safe(pos, n, head, member) \
	for ((pos) = d_list_entry((head)->next, __typeof__(*(pos)), member), \
	     (n) = d_list_entry((pos)->member.next, __typeof__(*(pos)), member); \
	     &(pos)->member != (head); \
	     (pos) = (n), (n) = d_list_entry((n)->member.next, __typeof__(*(n)), member))

#define d_list_for_each_entry_reverse_safe(pos, n, head, member) \
	for ((pos) = d_list_entry((head)->prev, __typeof__(*(pos)), member), \
	     (n) = d_list_entry((pos)->member.prev, __typeof__(*(pos)), member); \
	     &(pos)->member != (head); \
	     (pos) = (n), (n) = d_list_entry((n)->member.prev, __typeof__(*(n)), member))

#define d_list_for_each_entry_continue(pos, head, member) \
	for ((pos) = d_list_entry((pos)->member.next, __typeof__(*(pos)), member); \
	     &(pos)->member != (head); \
	     (pos) = d_list_entry((pos)->member.next, __typeof__(*(pos)), member))

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_GURT_LIST_H */
