/*
** interrupt.h: one process-wide "please stop" flag for long runs. A
** signal handler (Ctrl-C in gdnn-lua) raises it; the long loops of the
** core look at it once per iteration, finish that iteration, and stop
** with the reason "interrupted".
**
** Limits: one flag for the whole process; a loop that stops on it
** clears it, so one request stops one run.
*/
#ifndef GD_INTERRUPT_H
#define GD_INTERRUPT_H

/* Ask the running loop to stop. Async-signal-safe. */
void gd_interrupt_request(void);
/* 1 when a stop was asked for and not yet cleared. Async-signal-safe. */
int gd_interrupt_pending(void);
/* Forget a request. Async-signal-safe. */
void gd_interrupt_clear(void);
/* A loop that honours the flag brackets itself with enter and leave, so
** that a signal handler can tell whether a request will be seen. */
void gd_interrupt_enter(void);
void gd_interrupt_leave(void);
/* 1 while such a loop runs. Async-signal-safe. */
int gd_interrupt_watched(void);

#endif
