//! Intake's API tests: the real service (`linkway_intake::start`) over a private
//! nats-server and PostgreSQL from `linkway-testkit`, one fresh stream and database per test.

mod access;
mod audit;
mod channels;
mod command_path;
mod consent_table;
mod edges;
mod edges_platform;
mod fhir;
mod form;
mod lifecycle;
mod openapi;
mod outbound_page;
mod pages;
mod rectification;
mod referrals;
mod replay;
mod self_referral;
mod support;
mod unroutable_page;
