# Builds the noisegate binary into a small runtime image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/noisegate

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 noisegate
COPY --from=build /src/target/release/noisegate /usr/local/bin/noisegate
COPY config/ /etc/noisegate/
COPY examples/ /usr/share/noisegate/examples/
RUN mkdir -p /var/lib/noisegate && chown noisegate /var/lib/noisegate
USER noisegate
ENTRYPOINT ["noisegate"]
CMD ["--help"]
