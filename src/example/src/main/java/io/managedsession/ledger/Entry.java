package io.managedsession.ledger;

import java.time.OffsetDateTime;
import java.util.UUID;

/**
 * One change of an account's balance, as recorded in its history.
 *
 * @param id         the history row's id
 * @param accountId  the account
 * @param delta      the change, in minor units: positive for money in
 * @param at         when it happened
 * @param transferId the transfer it belongs to, or {@code null} for an opening balance, a deposit or a TPC-B step
 */
public record Entry(long id, long accountId, long delta, OffsetDateTime at, UUID transferId) {
}
