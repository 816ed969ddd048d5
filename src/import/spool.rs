//! Rows parked on disk while an import is sorted out: canonical rows with a 64-bit tag each,
//! appended per key (a bucket of ticket ids, a partition) to Arrow IPC files in the import's
//! work folder, and read back one key at a time. Memory holds a few thousand rows per key.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::arrow::array::{AsArray, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;

use super::{Row, batch, rows_of};

pub struct Spool {
    dir: PathBuf,
    name: &'static str,
    schema: SchemaRef,
    /// rows kept per key before they are written
    flush_rows: usize,
    buffers: HashMap<usize, Vec<(Row, u64)>>,
    writers: HashMap<usize, StreamWriter<BufWriter<File>>>,
}

impl Spool {
    pub fn new(dir: PathBuf, name: &'static str, flush_rows: usize) -> Spool {
        let mut fields: Vec<Field> = crate::schema::file_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new("tag", DataType::UInt64, false));
        Spool {
            dir,
            name,
            schema: Arc::new(Schema::new(fields)),
            flush_rows: flush_rows.max(1),
            buffers: HashMap::new(),
            writers: HashMap::new(),
        }
    }

    fn path(&self, key: usize) -> PathBuf {
        self.dir.join(format!("{}-{key}.arrow", self.name))
    }

    pub fn push(&mut self, key: usize, row: Row, tag: u64) -> Result<()> {
        let buf = self.buffers.entry(key).or_default();
        buf.push((row, tag));
        if buf.len() >= self.flush_rows {
            self.flush(key)?;
        }
        Ok(())
    }

    fn flush(&mut self, key: usize) -> Result<()> {
        let Some(buf) = self.buffers.get_mut(&key) else { return Ok(()) };
        if buf.is_empty() {
            return Ok(());
        }
        let taken = std::mem::take(buf);
        let rows: Vec<&Row> = taken.iter().map(|(r, _)| r).collect();
        let b = batch(&rows)?;
        let mut columns = b.columns().to_vec();
        columns.push(Arc::new(UInt64Array::from_iter_values(taken.iter().map(|(_, t)| *t))));
        let b = RecordBatch::try_new(self.schema.clone(), columns)?;
        if !self.writers.contains_key(&key) {
            let path = self.path(key);
            let f = File::create(&path).with_context(|| format!("writing {}", path.display()))?;
            self.writers.insert(key, StreamWriter::try_new(BufWriter::new(f), &self.schema)?);
        }
        self.writers.get_mut(&key).expect("writer made above").write(&b)?;
        Ok(())
    }

    /// Write what is buffered and close the files.
    pub fn finish(&mut self) -> Result<()> {
        let keys: Vec<usize> = self.buffers.keys().copied().collect();
        for k in keys {
            self.flush(k)?;
        }
        for (_, mut w) in self.writers.drain() {
            w.finish()?;
        }
        Ok(())
    }

    /// The rows of a key with their tags, in the order they were pushed (after `finish`).
    pub fn read(&self, key: usize) -> Result<Vec<(Row, u64)>> {
        let path = self.path(key);
        let mut out = Vec::new();
        if !path.exists() {
            return Ok(out);
        }
        let f = File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        for b in StreamReader::try_new(std::io::BufReader::new(f), None)? {
            let b = b?;
            let tags = b.column(b.num_columns() - 1).as_primitive::<UInt64Type>().clone();
            let rows = rows_of(&b)?;
            out.extend(rows.into_iter().zip((0..tags.len()).map(|i| tags.value(i))));
        }
        Ok(out)
    }
}
