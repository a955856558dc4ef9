/*
 * daos/tse.h -- the task scheduling engine: schedulers (tse_sched_t) and tasks
 * (tse_task_t) with dependencies and prepare/completion callbacks.  DAOS task-API
 * operations (daos_task.h) run as tasks of a scheduler.
 * Part of the daos-rs C interface; matches DAOS API 2.8 (sizes: tse_task_t 1024
 * bytes and tse_sched_t 400 bytes on x86_64; dt_result and ds_result are public).
 */
#ifndef DAOS_RS_DAOS_TSE_H
#define DAOS_RS_DAOS_TSE_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <gurt/list.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Bytes of task arguments (the mutex size differs between x86_64 and aarch64). */
#define TSE_TASK_ARG_LEN (840 + sizeof(pthread_mutex_t))
/** Bytes of scheduler-private task state. */
#define TSE_PRIV_SIZE    (TSE_TASK_ARG_LEN + 136)
/** Total task size. */
#define TSE_TASK_SIZE    (TSE_PRIV_SIZE + 8)

/** A task; allocated by tse_task_create, freed when its last reference goes. */
typedef struct tse_task {
	int dt_result; /**< result, valid once the task has completed */
	int dt_pad32;
	struct {
		char dt_space[TSE_PRIV_SIZE];
	} dt_private;
} tse_task_t;

/** A scheduler; caller-allocated, set up with tse_sched_init. */
typedef struct {
	int   ds_result; /**< combined result, valid once the scheduler completes */
	void *ds_udata;  /**< user data given to tse_sched_init */
	struct {
		uint64_t ds_space[48];
	} ds_private;
} tse_sched_t;

/** Called when all tasks of a scheduler are done. */
typedef int (*tse_sched_comp_cb_t)(void *args, int rc);
/** Body of a task; it (or a callback) must eventually call tse_task_complete. */
typedef int (*tse_task_func_t)(tse_task_t *);
/** Prepare / completion callback. */
typedef int (*tse_task_cb_t)(tse_task_t *, void *arg);

tse_sched_t *tse_task2sched(tse_task_t *task);

int tse_sched_init(tse_sched_t *sched, tse_sched_comp_cb_t comp_cb, void *udata);
void tse_sched_fini(tse_sched_t *sched);
void tse_sched_addref(tse_sched_t *sched);
void tse_sched_decref(tse_sched_t *sched);
/** Wait for (or with \a cancel, abort) all tasks, then finish the scheduler. */
void tse_sched_complete(tse_sched_t *sched, int ret, bool cancel);
int tse_sched_register_comp_cb(tse_sched_t *sched, tse_sched_comp_cb_t comp_cb, void *arg);
/** Run the tasks whose dependencies are done. */
void tse_sched_progress(tse_sched_t *sched);
/** True if the scheduler has no tasks left. */
bool tse_sched_check_complete(tse_sched_t *sched);

int tse_task_create(tse_task_func_t task_func, tse_sched_t *sched, void *priv,
		    tse_task_t **taskp);
/** Queue \a task; with \a instant its body runs inside this call. */
int tse_task_schedule(tse_task_t *task, bool instant);
int tse_task_schedule_with_delay(tse_task_t *task, bool instant, uint64_t delay);
int tse_task_register_comp_cb(tse_task_t *task, tse_task_cb_t comp_cb, void *arg,
			      size_t arg_size);
/** Complete \a task with result \a ret; dependents whose result is 0 inherit it. */
void tse_task_complete(tse_task_t *task, int ret);
/** Scratch space inside the task for up to \a size bytes; NULL if too large. */
void *tse_task_buf_embedded(tse_task_t *task, int size);
void *tse_task_get_priv(tse_task_t *task);
/** Set the private pointer; returns the previous one. */
void *tse_task_set_priv(tse_task_t *task, void *priv);
/** \a task runs only after all \a dep_tasks have completed. */
int tse_task_register_deps(tse_task_t *task, int num_deps, tse_task_t *dep_tasks[]);
/** Callbacks run before the body and after completion; the data are copied. */
int tse_task_register_cbs(tse_task_t *task, tse_task_cb_t prep_cb, void *prep_data,
			  size_t prep_data_size, tse_task_cb_t comp_cb, void *comp_data,
			  size_t comp_data_size);
/** Queue a task again (e.g. from its completion callback, to retry). */
int tse_task_reinit(tse_task_t *task);
int tse_task_reinit_with_delay(tse_task_t *task, uint64_t delay);
/** Reuse a completed or not yet started task with a new body. */
int tse_task_reset(tse_task_t *task, tse_task_func_t task_func, void *priv);
void tse_task_addref(tse_task_t *task);
void tse_task_decref(tse_task_t *task);
int tse_task_list_add(tse_task_t *task, d_list_t *head);
void tse_task_list_del(tse_task_t *task);
tse_task_t *tse_task_list_first(d_list_t *head);
void tse_task_list_sched(d_list_t *head, bool instant);
void tse_task_list_abort(d_list_t *head, int rc);
int tse_task_list_depend(d_list_t *head, tse_task_t *task);
int tse_task_depend_list(tse_task_t *task, d_list_t *head);
int tse_task_list_traverse(d_list_t *head, tse_task_cb_t cb, void *arg);
/** Do not copy dependencies' results into \a task. */
void tse_disable_propagate(tse_task_t *task);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_TSE_H */
