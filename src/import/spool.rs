//! Rows parked on disk while an import is sorted out: batches in the archive's file schema plus
//! a 64-bit `tag` per row, appended per key (a bucket of ticket ids, a month) to Arrow IPC files
//! in the import's work folder, and read back one key at a time. Memory holds a few thousand
//! rows per key.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use datafusion::arrow::array::{RecordBatch, UInt64Array};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;

pub struct Spool {
    dir: PathBuf,
    name: &'static str,
    schema: SchemaRef,
    /// rows kept per key before they are written
    flush_rows: usize,
    buffers: HashMap<usize, (Vec<RecordBatch>, usize)>,
    writers: HashMap<usize, StreamWriter<BufWriter<File>>>,
    /// the keys with a file (a file that is gone since is an error: the work folder was removed)
    written: std::collections::HashSet<usize>,
}

/// The file schema with the tag column after it.
pub fn tagged_schema() -> SchemaRef {
    let mut fields: Vec<Field> = crate::schema::file_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("tag", DataType::UInt64, false));
    Arc::new(Schema::new(fields))
}

/// A batch of the file schema with a tag per row.
pub fn tag(batch: &RecordBatch, tags: impl IntoIterator<Item = u64>) -> Result<RecordBatch> {
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from_iter_values(tags)));
    Ok(RecordBatch::try_new(tagged_schema(), columns)?)
}

impl Spool {
    pub fn new(dir: PathBuf, name: &'static str, flush_rows: usize) -> Spool {
        Spool {
            dir,
            name,
            schema: tagged_schema(),
            flush_rows: flush_rows.max(1),
            buffers: HashMap::new(),
            writers: HashMap::new(),
            written: Default::default(),
        }
    }

    fn path(&self, key: usize) -> PathBuf {
        self.dir.join(format!("{}-{key}.arrow", self.name))
    }

    /// Park a tagged batch under `key`.
    pub fn push(&mut self, key: usize, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let buf = self.buffers.entry(key).or_default();
        buf.1 += batch.num_rows();
        buf.0.push(batch);
        if buf.1 >= self.flush_rows {
            self.flush(key)?;
        }
        Ok(())
    }

    fn flush(&mut self, key: usize) -> Result<()> {
        let Some(buf) = self.buffers.get_mut(&key) else { return Ok(()) };
        if buf.0.is_empty() {
            return Ok(());
        }
        let (batches, _) = std::mem::take(buf);
        let b = concat_batches(&self.schema, &batches)?;
        if !self.writers.contains_key(&key) {
            let path = self.path(key);
            let f = File::create(&path).with_context(|| format!("writing {}", path.display()))?;
            self.writers.insert(key, StreamWriter::try_new(BufWriter::new(f), &self.schema)?);
            self.written.insert(key);
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

    /// The rows of a key in the order they were pushed, as one batch (after `finish`).
    pub fn read(&self, key: usize) -> Result<RecordBatch> {
        Ok(concat_batches(&self.schema, &self.read_batches(key)?)?)
    }

    /// The rows of a key in the order they were pushed, as written (after `finish`).
    pub fn read_batches(&self, key: usize) -> Result<Vec<RecordBatch>> {
        let path = self.path(key);
        if !self.written.contains(&key) {
            return Ok(Vec::new());
        }
        let f = File::open(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(StreamReader::try_new(std::io::BufReader::new(f), None)?.collect::<Result<Vec<_>, _>>()?)
    }
}
