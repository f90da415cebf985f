/*
 * vmstat.c: the model's counters and fault records, and their hooks (see
 * vmstat.h).  The counters are per run; the hooks persist across runs, as
 * the analysis layer subscribes once per campaign.
 */
#include "mm/vmstat.h"

static const char *const event_names[NR_VM_EVENT_ITEMS] = {
	[PGFAULT] = "pgfault",
	[PGMAJFAULT] = "pgmajfault",
	[VMA_LOCK_SUCCESS] = "vma_lock_success",
	[VMA_LOCK_ABORT] = "vma_lock_abort",
	[VMA_LOCK_RETRY] = "vma_lock_retry",
	[VMA_LOCK_MISS] = "vma_lock_miss",
	[SPF_ATTEMPT] = "spf_attempt",
	[SPF_ABORT] = "spf_abort",
	[FAULT_RETRY] = "fault_retry",
	[PSWPIN] = "pswpin",
	[PSWPOUT] = "pswpout",
	[IO_SUBMITTED] = "io_submitted",
	[IO_COMPLETED] = "io_completed",
	[PGSCAN] = "pgscan",
	[PGSTEAL] = "pgsteal",
};

static const char *const kind_names[FAULT_KINDS_COUNT] = {
	[FAULT_KIND_ANON] = "anon",
	[FAULT_KIND_FILE_MINOR] = "file_minor",
	[FAULT_KIND_FILE_MAJOR] = "file_major",
	[FAULT_KIND_SWAP_ZRAM] = "swap_zram",
	[FAULT_KIND_SWAP_DISK] = "swap_disk",
	[FAULT_KIND_COW] = "cow",
	[FAULT_KIND_SHARED] = "shared",
	[FAULT_KIND_WP] = "wp",
};

static uint64_t events[NR_VM_EVENT_ITEMS];
static struct vmstat_hooks hooks[VMSTAT_HOOKS_MAX];
static uint32_t hooks_count;

const char *vm_event_name(enum vm_event_item item)
{
	SIM_ASSERT(item < NR_VM_EVENT_ITEMS);
	SIM_ASSERT(event_names[item] != NULL);
	return event_names[item];
}

const char *fault_kind_name(enum fault_kind kind)
{
	SIM_ASSERT(kind < FAULT_KINDS_COUNT);
	SIM_ASSERT(kind_names[kind] != NULL);
	return kind_names[kind];
}

bool vmstat_hooks_subscribe(const struct vmstat_hooks *h)
{
	if (hooks_count >= VMSTAT_HOOKS_MAX)
		return false;
	hooks[hooks_count++] = *h;
	return true;
}

void vmstat_hooks_unsubscribe(void *ctx)
{
	uint32_t w = 0;

	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].ctx != ctx)
			hooks[w++] = hooks[i];
	hooks_count = w;
}

void count_vm_events(enum vm_event_item item, uint64_t delta)
{
	SIM_ASSERT(item < NR_VM_EVENT_ITEMS);
	events[item] += delta;
	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].vm_event)
			hooks[i].vm_event(hooks[i].ctx, item, delta);
}

void vmstat_fault_done(const struct fault_record *r)
{
	SIM_ASSERT(r->kind < FAULT_KINDS_COUNT);
	SIM_ASSERT(r->end_ns >= r->start_ns);
	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].fault_done)
			hooks[i].fault_done(hooks[i].ctx, r);
}

void vmstat_fault_retry(struct task *t, uint64_t address, uint32_t attempt,
			const char *why)
{
	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].fault_retry)
			hooks[i].fault_retry(hooks[i].ctx, t, address, attempt,
					     why);
}

void vmstat_folio_freed(struct folio *folio)
{
	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].folio_freed)
			hooks[i].folio_freed(hooks[i].ctx, folio);
}

uint64_t vm_events(enum vm_event_item item)
{
	SIM_ASSERT(item < NR_VM_EVENT_ITEMS);
	return events[item];
}

void vm_events_reset(void)
{
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		events[i] = 0;
}
