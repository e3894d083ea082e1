/*
 * Copyright 2020 Felix Arndt
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Lock-free single-producer single-consumer ring buffer.
 */
#ifndef RINGBUF_H
#define RINGBUF_H

#include <stddef.h>

struct ringbuf {
    unsigned char *data;
    size_t size;
    size_t head;
    size_t tail;
};

static inline size_t ringbuf_used(const struct ringbuf *rb)
{
    return (rb->head - rb->tail) & (rb->size - 1);
}

#endif /* RINGBUF_H */
