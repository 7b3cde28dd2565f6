/* reminders: activity reminders (issue K item 7). A job (job.h) on the
 * notifications loop: each round takes the registrations of open activities
 * that start within their remind_before_minutes (default 1440: a day) and
 * have not started yet, not reminded yet, and routes one activity.reminder
 * per registration to its party (rules: party {preferred} by default; the
 * party's locale, channels, opt-out and "activities" topic; templates
 * activity.reminder with the title, place and time in the property's
 * zone). The registration's reminded_at is set in the transaction that
 * writes its notices, the rows locked FOR UPDATE SKIP LOCKED: once per
 * registration whatever the workers or restarts (and the notifications'
 * unique key on the registration's id says the same once more). A
 * registration made after its reminder time is reminded by the next round;
 * one of an activity already started, never.
 *
 * activity.reminder is internal to notifications: no other service sees it
 * (no webhook); the period is PM_ACTIVITY_REMINDER_EVERY_MS (60000). */
#ifndef NT_REMINDERS_H
#define NT_REMINDERS_H

#include "notifications.h"

#include "job.h"

#define NT_REMINDER_EVERY_MS_DEFAULT 60000
#define NT_REMINDER_BATCH            200    /* registrations per transaction */
#define NT_REMIND_BEFORE_DEFAULT     1440   /* minutes (migration 010) */
#define NT_REMIND_BEFORE_MAX         43200  /* 30 days */

int nt_reminders_prepare (db_t *db);

/* The job; NULL when out of memory. */
job_t *nt_reminders_new (uv_loop_t *loop, nt_app_t *app);

/* One round now: registrations reminded, or -1 on a database error. */
int nt_reminders_run_once (nt_app_t *app);

#endif
