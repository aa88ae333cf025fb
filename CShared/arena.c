// Arena header, section directory and validation.
#include "cs_alloc.h"
#include "cs_arena.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

int cs_arena_format(void *base, uint64_t size, uint32_t flags, int32_t creator_pid,
                    uint64_t creator_start_ticks, const char *name) {
    uint64_t control = align_up(sizeof(cs_arena_header), 64);
    uint64_t heap = align_up(control + sizeof(cs_allocator), 64);
    if (size < heap + 4096) return EINVAL;

    cs_arena_header *arena = (cs_arena_header *)base;
    memset(arena, 0, sizeof(*arena));
    arena->layout_version = CS_LAYOUT_VERSION;
    arena->header_size = (uint32_t)sizeof(cs_arena_header);
    arena->base_address = (uint64_t)(uintptr_t)base;
    arena->size = size;
    arena->creator_pid = creator_pid;
    arena->creator_start_ticks = creator_start_ticks;
    arena->flags = flags;
    arena->created_realtime_ns = cs_realtime_ns();
    arena->state = CS_ARENA_INITIALIZING;
    snprintf(arena->name, sizeof(arena->name), "%s", name ? name : "");

    int rc = cs_alloc_init(arena, control, heap, size, (flags & CS_ARENA_DEBUG) != 0);
    if (rc != 0) return rc;
    cs_section *s = &arena->sections[arena->section_count++];
    snprintf(s->name, sizeof(s->name), "allocator");
    s->offset = control;
    s->size = sizeof(cs_allocator);
    s->kind = CS_SECTION_ALLOCATOR;
    s->version = 1;
    // The magic goes last: a tool that sees it knows the header is complete.
    __atomic_store_n(&arena->magic, CS_ARENA_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

void cs_arena_set_ready(cs_arena_header *arena) {
    __atomic_store_n(&arena->state, CS_ARENA_READY, __ATOMIC_RELEASE);
}

void *cs_arena_add_section(cs_arena_header *arena, const char *name, uint64_t size,
                           uint32_t kind, uint32_t version) {
    if (arena->section_count >= CS_MAX_SECTIONS) return NULL;
    if (strlen(name) >= CS_SECTION_NAME_MAX || cs_arena_find_section(arena, name)) return NULL;
    // Over-allocate so the section can start on a cache line of its own.
    char *raw = cs_alloc(arena, size + 64);
    if (!raw) return NULL;
    char *start = (char *)(uintptr_t)align_up((uint64_t)(uintptr_t)raw, 64);
    memset(start, 0, size);
    cs_section *s = &arena->sections[arena->section_count];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->offset = (uint64_t)(start - (char *)arena);
    s->size = size;
    s->kind = kind;
    s->version = version;
    __atomic_add_fetch(&arena->section_count, 1, __ATOMIC_RELEASE);
    return start;
}

const cs_section *cs_arena_find_section(const cs_arena_header *arena, const char *name) {
    uint32_t count = arena->section_count;
    if (count > CS_MAX_SECTIONS) count = CS_MAX_SECTIONS;
    for (uint32_t i = 0; i < count; i++) {
        if (strncmp(arena->sections[i].name, name, CS_SECTION_NAME_MAX) == 0) {
            return &arena->sections[i];
        }
    }
    return NULL;
}

int cs_arena_validate(const void *base, uint64_t mapped_size, char *why, size_t why_size) {
    const cs_arena_header *arena = (const cs_arena_header *)base;
#define FAIL(code, ...)                                   \
    do {                                                  \
        if (why && why_size) snprintf(why, why_size, __VA_ARGS__); \
        return code;                                      \
    } while (0)
    if (mapped_size < sizeof(cs_arena_header))
        FAIL(CS_INVALID_TOO_SMALL, "object is %llu bytes, smaller than an arena header",
             (unsigned long long)mapped_size);
    if (arena->magic != CS_ARENA_MAGIC)
        FAIL(CS_INVALID_MAGIC, "no Respite arena magic at offset 0 (found 0x%016llx)",
             (unsigned long long)arena->magic);
    if (arena->layout_version != CS_LAYOUT_VERSION || arena->header_size != sizeof(cs_arena_header))
        FAIL(CS_INVALID_VERSION, "layout version %u (header %u bytes); this tool reads version %u",
             arena->layout_version, arena->header_size, CS_LAYOUT_VERSION);
    if (arena->size != mapped_size)
        FAIL(CS_INVALID_SIZE, "header says %llu bytes but the object has %llu",
             (unsigned long long)arena->size, (unsigned long long)mapped_size);
    if (arena->state > CS_ARENA_READY) FAIL(CS_INVALID_STATE, "unknown arena state %u", arena->state);
    if (arena->section_count > CS_MAX_SECTIONS)
        FAIL(CS_INVALID_SECTION, "section count %u exceeds %u", arena->section_count, CS_MAX_SECTIONS);
    if (arena->allocator_offset < sizeof(cs_arena_header) ||
        arena->allocator_offset > mapped_size - sizeof(cs_allocator))
        FAIL(CS_INVALID_SECTION, "allocator offset %llu out of bounds",
             (unsigned long long)arena->allocator_offset);
    for (uint32_t i = 0; i < arena->section_count; i++) {
        const cs_section *s = &arena->sections[i];
        if (memchr(s->name, 0, sizeof(s->name)) == NULL)
            FAIL(CS_INVALID_SECTION, "section %u has an unterminated name", i);
        if (s->offset < sizeof(cs_arena_header) || s->offset > mapped_size ||
            s->size > mapped_size - s->offset)
            FAIL(CS_INVALID_SECTION, "section '%s' [%llu, +%llu) lies outside the arena", s->name,
                 (unsigned long long)s->offset, (unsigned long long)s->size);
    }
#undef FAIL
    if (why && why_size) why[0] = 0;
    return 0;
}
