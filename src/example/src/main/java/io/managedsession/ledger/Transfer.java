package io.managedsession.ledger;

import java.time.OffsetDateTime;
import java.util.UUID;

/**
 * A transfer between two accounts.
 *
 * @param id             the transfer's id
 * @param fromAccount    the debited account
 * @param toAccount      the credited account
 * @param amount         the amount, in minor units, always positive
 * @param idempotencyKey the caller's key; a second transfer with the same key returns this one
 * @param createdAt      when it was recorded
 * @param replayed       {@code true} when this call found the transfer already made under its key and moved nothing
 */
public record Transfer(UUID id, long fromAccount, long toAccount, long amount, String idempotencyKey,
        OffsetDateTime createdAt, boolean replayed) {
}
