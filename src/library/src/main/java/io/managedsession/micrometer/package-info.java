/**
 * Micrometer integration, optional: {@link io.managedsession.micrometer.SessionManagerMetrics} for meters and
 * {@link io.managedsession.micrometer.SessionManagerObservations} for a tracing span per transaction. Needs
 * {@code io.micrometer:micrometer-core} on the class path.
 */
package io.managedsession.micrometer;
