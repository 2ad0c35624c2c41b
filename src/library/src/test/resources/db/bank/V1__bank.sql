-- The small domain of the library's own tests that need one (io.managedsession.support.Bank): accounts that pay each
-- other, every change of a balance recorded as an entry, so that a test can check nothing was made or lost.
CREATE TABLE accounts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner   text   NOT NULL,
    balance bigint NOT NULL CHECK (balance >= 0)
);

CREATE TABLE transfers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_account    bigint NOT NULL REFERENCES accounts,
    to_account      bigint NOT NULL REFERENCES accounts,
    amount          bigint NOT NULL CHECK (amount > 0),
    idempotency_key text   NOT NULL UNIQUE
);

CREATE TABLE entries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account     bigint NOT NULL REFERENCES accounts,
    delta       bigint NOT NULL,
    transfer_id bigint REFERENCES transfers
);
