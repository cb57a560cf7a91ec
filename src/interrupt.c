/*
** interrupt.c: the stop flag of interrupt.h, a volatile sig_atomic_t
** that a signal handler may write and the core's loops read.
*/
#include <signal.h>

#include "interrupt.h"

static volatile sig_atomic_t requested = 0;
static volatile sig_atomic_t watchers = 0;


void gd_interrupt_request(void) {
  requested = 1;
}


int gd_interrupt_pending(void) {
  return requested != 0;
}


void gd_interrupt_clear(void) {
  requested = 0;
}


void gd_interrupt_enter(void) {
  watchers++;
}


void gd_interrupt_leave(void) {
  if (watchers > 0) watchers--;
}


int gd_interrupt_watched(void) {
  return watchers != 0;
}
