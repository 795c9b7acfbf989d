/*
 * governance.h: the oversight layer's job types and the governance maintenance worker.
 *
 *   paradox      one Paradox sweep (paradox.h): INIT -> CHECK. Its result (violations,
 *                incidents new/bumped, role) goes into the job's completion packet.
 *   governance   one periodic duty, payload {"duty": D, "once": bool}: INIT -> RUN -> NEXT.
 *                RUN does the duty; NEXT enqueues the same duty again, delayed to the next
 *                interval bucket with the unique key "governance:D:BUCKET" (like the
 *                re-scrape: two runs in one bucket schedule one successor; with "once" no
 *                successor). The duties and their interval settings:
 *                  paradox   governance.paradox_interval_s   enqueues a `paradox` job
 *                                                           (unique key "paradox:BUCKET")
 *                  eclipse   governance.eclipse_interval_s   an Eclipse sweep (eclipse.h)
 *                  views     governance.views_interval_s     PostgreSQL: REFRESH
 *                            MATERIALIZED VIEW CONCURRENTLY of every materialized view of the
 *                            schema (each has the unique index CONCURRENTLY needs, migration
 *                            1; a plain REFRESH when that fails)
 *                  optimize  governance.optimize_interval_s  SQLite: PRAGMA optimize, and
 *                            PRAGMA incremental_vacuum when auto_vacuum is incremental
 *                  infinity  governance.infinity_interval_s  an Infinity tick (infinity.h)
 *                  retention governance.retention_interval_s enqueues a `retention` job
 *                                                           (unique key "retention:BUCKET")
 *                  archive   governance.archive_interval_s   logs rows older than
 *                            governance.archive_after_days to a compressed archive (archive.h)
 *                  tokens    governance.tokens_interval_s    the token health check of every
 *                            linked publishing account (targets/accounts.h om_account_check)
 *                  discovery governance.discovery_interval_s a `discovery` job per project
 *                                                           (unique key "discovery:P:BUCKET")
 *                  stats     governance.stats_interval_s     a `stats` job (stages/stats.c:
 *                                                           our published clips' figures;
 *                                                           unique key "stats:BUCKET")
 *                An interval of 0 turns a duty off.
 */
#ifndef OMNIVA_OVERSIGHT_GOVERNANCE_H
#define OMNIVA_OVERSIGHT_GOVERNANCE_H

#include <stddef.h>

#include "base/config.h"
#include "queue/queue.h"
#include "store/store.h"

/* Registers `paradox` and `governance` with the runtime (stages/registry.c calls it). */
void om_oversight_register_all(void);

/* Enqueues this bucket's job of every duty that applies to the store's dialect and has an
 * interval (what `omniva run` does at start, beside the re-scrape); unique keys make a
 * second call in the same bucket a no-op. once: the duties run once, without successors
 * (keyed "governance-once:D:BUCKET", apart from the periodic chain's keys).
 * *enqueued_out (may be NULL) counts the jobs created. */
int om_governance_schedule(om_store *s, om_queue *q, const om_config *cfg, int once,
                           size_t *enqueued_out);

/* The duty names, NULL-terminated (static storage). */
extern const char *const om_governance_duties[];

#endif
