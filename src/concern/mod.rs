//! The concern domain: the shipped issue form, parsing an issue-form body into a
//! [`Concern`], and the criteria check. Pure: no I/O beyond reading a form file on request.

pub mod form;
