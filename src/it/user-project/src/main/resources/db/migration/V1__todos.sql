CREATE TABLE todos (
    id    bigint       GENERATED ALWAYS AS IDENTITY,
    title varchar(200) NOT NULL,
    done  boolean      NOT NULL DEFAULT false,
    CONSTRAINT todos_pkey PRIMARY KEY (id),
    CONSTRAINT todos_title_not_blank CHECK (length(trim(title)) > 0)
);
